/**
 * Serves a service's tsoa-generated OpenAPI document at `/openapi.json` and Swagger UI at `/docs`.
 */
import type { Express } from 'express';
import swaggerUi from 'swagger-ui-express';

export function mountDocs(app: Express, spec: object): void {
  app.get('/openapi.json', (_req, res) => {
    res.json(spec);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(spec, { customSiteTitle: 'API docs' }));
}

/** Helmet's CSP relaxed for Swagger UI's inline bootstrap. */
export const swaggerCsp = {
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'", "'unsafe-inline'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
  },
};
