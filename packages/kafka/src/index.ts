/**
 * Kafka for the services: the platform's topics as code (`./topics`, plain data), the client
 * built from config (`createKafka`), and topic creation (`ensureTopics`).
 */
export * from './admin';
export * from './client';
export * from './topics';
