/**
 * The platform's Kafka topics, as fixed in docs/contracts.md: the one list that the producers
 * (ugc-collector, catalog-api), the loader (ugc-etl) and the chart test read. A topic is added or
 * renamed here, in docs/contracts.md and in the `kafkaTopics` values of its producer's chart;
 * unit tests of this package and the chart test fail until all three agree.
 *
 * Plain data (names, producers, tables), the part of this package that domain code reads.
 */

/** The service that writes a topic; its chart declares the topic (a Strimzi KafkaTopic). */
export type TopicProducer = 'ugc-collector' | 'catalog-api' | 'ugc-etl';

export interface TopicDeclaration {
  /** The topic's name; services prepend `KAFKA_TOPIC_PREFIX` (empty in production). */
  readonly name: string;
  readonly producer: TopicProducer;
}

/** A topic that ugc-etl loads into a ClickHouse table. */
export interface LoadedTopic extends TopicDeclaration {
  readonly table: string;
}

/** Player events (ugc-collector → ugc-etl), by the player's event type. */
export const CLICK_TOPICS = {
  pause: {
    name: 'tracking.clicks_on_video.pauses',
    producer: 'ugc-collector',
    table: 'clicks_on_video_pauses',
  },
  full_view: {
    name: 'tracking.clicks_on_video.full_views',
    producer: 'ugc-collector',
    table: 'clicks_on_video_full_views',
  },
  quality_change: {
    name: 'tracking.clicks_on_video.quality_changes',
    producer: 'ugc-collector',
    table: 'video_quality_change_clicks',
  },
} as const satisfies Record<string, LoadedTopic>;

export type ClickTopicKind = keyof typeof CLICK_TOPICS;

/** Page views (catalog-api → ugc-etl), one topic per endpoint. */
export const PAGE_VIEW_TOPICS = {
  get_films: {
    name: 'tracking.page_views.get_films',
    producer: 'catalog-api',
    table: 'get_films_page_views',
  },
  get_film_by_id: {
    name: 'tracking.page_views.get_film_by_id',
    producer: 'catalog-api',
    table: 'get_film_by_id_page_views',
  },
  search_films_by_keyword: {
    name: 'tracking.page_views.search_films_by_keyword',
    producer: 'catalog-api',
    table: 'search_films_by_keyword_page_views',
  },
  get_genres: {
    name: 'tracking.page_views.get_genres',
    producer: 'catalog-api',
    table: 'get_genres_page_views',
  },
  get_genre_by_id: {
    name: 'tracking.page_views.get_genre_by_id',
    producer: 'catalog-api',
    table: 'get_genre_by_id_page_views',
  },
  get_person_by_id: {
    name: 'tracking.page_views.get_person_by_id',
    producer: 'catalog-api',
    table: 'get_person_by_id_page_views',
  },
  search_persons_by_keyword: {
    name: 'tracking.page_views.search_persons_by_keyword',
    producer: 'catalog-api',
    table: 'search_persons_by_keyword_page_views',
  },
} as const satisfies Record<string, LoadedTopic>;

export type PageViewEndpoint = keyof typeof PAGE_VIEW_TOPICS;

/** The endpoints that emit page views, in the order of the list above. */
export const PAGE_VIEW_ENDPOINTS = Object.keys(PAGE_VIEW_TOPICS) as PageViewEndpoint[];

/** Messages ugc-etl could not parse, with the reason. */
export const DEAD_LETTER_TOPIC = {
  name: 'tracking.dead_letter',
  producer: 'ugc-etl',
} as const satisfies TopicDeclaration;

/** Every topic ugc-etl loads into ClickHouse. */
export const LOADED_TOPICS: readonly LoadedTopic[] = [
  ...Object.values(CLICK_TOPICS),
  ...Object.values(PAGE_VIEW_TOPICS),
];

/** Every platform topic. */
export const TOPICS: readonly TopicDeclaration[] = [...LOADED_TOPICS, DEAD_LETTER_TOPIC];

/** A declared topic's name with a prefix (`KAFKA_TOPIC_PREFIX`; test runs isolate themselves). */
export function topicName(topic: TopicDeclaration, prefix = ''): string {
  return `${prefix}${topic.name}`;
}

/** The names of several declared topics, with a prefix. */
export function topicNamesOf(topics: Iterable<TopicDeclaration>, prefix = ''): string[] {
  return [...topics].map((t) => topicName(t, prefix));
}
