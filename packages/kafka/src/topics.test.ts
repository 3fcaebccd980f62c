import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CLICK_TOPICS,
  DEAD_LETTER_TOPIC,
  LOADED_TOPICS,
  PAGE_VIEW_ENDPOINTS,
  PAGE_VIEW_TOPICS,
  topicName,
  topicNamesOf,
  TOPICS,
} from './topics';

const contracts = fs.readFileSync(
  path.join(__dirname, '..', '..', '..', 'docs', 'contracts.md'),
  'utf8',
);

describe('topic declarations', () => {
  it('name every topic and every table once', () => {
    const names = TOPICS.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    const tables = LOADED_TOPICS.map((t) => t.table);
    expect(new Set(tables).size).toBe(tables.length);
    expect(TOPICS).toHaveLength(3 + 7 + 1);
  });

  it('are the topics of docs/contracts.md, with its page-view tables', () => {
    const documented = new Set([...contracts.matchAll(/`(tracking\.[a-z_.]+)`/g)].map((m) => m[1]));
    expect([...documented].sort()).toEqual(TOPICS.map((t) => t.name).sort());
    for (const [endpoint, topic] of Object.entries(PAGE_VIEW_TOPICS)) {
      const row = new RegExp(
        `\\|\\s*\`${topic.name.replace(/\./g, '\\.')}\`\\s*\\|[^|]*\\|\\s*\`${topic.table}\`\\s*\\|`,
      );
      expect(contracts).toMatch(row);
      expect(topic.name).toBe(`tracking.page_views.${endpoint}`);
    }
    for (const topic of Object.values(CLICK_TOPICS))
      expect(contracts).toContain(`\`${topic.table}\``);
  });

  it('say who produces each topic', () => {
    expect(Object.values(CLICK_TOPICS).map((t) => t.producer)).toEqual(
      Array(3).fill('ugc-collector'),
    );
    expect(Object.values(PAGE_VIEW_TOPICS).every((t) => t.producer === 'catalog-api')).toBe(true);
    expect(DEAD_LETTER_TOPIC.producer).toBe('ugc-etl');
  });

  it('list the page-view endpoints and prefix names', () => {
    expect(PAGE_VIEW_ENDPOINTS).toEqual([
      'get_films',
      'get_film_by_id',
      'search_films_by_keyword',
      'get_genres',
      'get_genre_by_id',
      'get_person_by_id',
      'search_persons_by_keyword',
    ]);
    expect(topicName(CLICK_TOPICS.pause, 'test.1.')).toBe('test.1.tracking.clicks_on_video.pauses');
    expect(topicNamesOf([DEAD_LETTER_TOPIC, PAGE_VIEW_TOPICS.get_genres])).toEqual([
      'tracking.dead_letter',
      'tracking.page_views.get_genres',
    ]);
  });
});
