/** Where the campaigns panel is mounted (listed in package.json's cinema.routes). */
export const ADMIN_PREFIX = '/notifications/admin';
