/** The genres a user follows (the "new film" announcements and the campaigns' `genres` audience). */
import { ValidationError } from '@cinema/errors';

export interface GenreChoice {
  /** The genre's name as in the catalog. */
  name: string;
  /** Its catalog id, when known (matches a renamed genre too). */
  id?: string | null;
}

export interface GenreSubscriptionsRepository {
  list(userId: string): Promise<GenreChoice[]>;
  /** Replaces the user's genres with these (one transaction). */
  replace(userId: string, genres: GenreChoice[]): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[\p{L}\p{N} _'&-]{1,60}$/u;
export const MAX_GENRES = 100;

export function checkGenres(input: unknown): GenreChoice[] {
  const fields: Record<string, { message: string; value?: unknown }> = {};
  if (!Array.isArray(input)) {
    throw new ValidationError('genres: a list', { 'body.genres': { message: 'a list' } });
  }
  if (input.length > MAX_GENRES) fields['body.genres'] = { message: `at most ${MAX_GENRES}` };
  const out = new Map<string, GenreChoice>();
  input.forEach((g: unknown, i) => {
    const item = (typeof g === 'string' ? { name: g } : g) as Partial<GenreChoice> | null;
    const name = typeof item?.name === 'string' ? item.name.trim() : '';
    if (!NAME.test(name)) {
      fields[`body.genres.${i}.name`] = {
        message: 'a genre name (1 to 60 characters)',
        value: item?.name,
      };
      return;
    }
    if (item?.id != null && (typeof item.id !== 'string' || !UUID.test(item.id))) {
      fields[`body.genres.${i}.id`] = { message: 'a UUID or null', value: item.id };
      return;
    }
    out.set(name.toLowerCase(), { name, id: item?.id ? item.id.toLowerCase() : null });
  });
  if (Object.keys(fields).length) throw new ValidationError('invalid genres', fields);
  return [...out.values()];
}

export class GenresService {
  constructor(private readonly repository: GenreSubscriptionsRepository) {}

  list(userId: string): Promise<GenreChoice[]> {
    return this.repository.list(userId);
  }

  async replace(userId: string, input: unknown): Promise<GenreChoice[]> {
    await this.repository.replace(userId, checkGenres(input));
    return this.repository.list(userId);
  }
}
