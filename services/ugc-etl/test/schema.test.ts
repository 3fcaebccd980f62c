/** The schema DDL on one server (unchanged) and on a cluster (Replicated local + Distributed). */
import { schemaStatements, TABLES } from '../src/domain/tables';

describe('schemaStatements', () => {
  it('on one server: the database and each ReplacingMergeTree table, as before', () => {
    const sql = schemaStatements('db');
    expect(sql[0]).toBe('CREATE DATABASE IF NOT EXISTS db');
    expect(sql).toHaveLength(1 + TABLES.length);
    for (const [i, spec] of TABLES.entries()) {
      expect(sql[i + 1]).toBe(`CREATE TABLE IF NOT EXISTS db.${spec.table} ${spec.ddl}`);
      expect(sql[i + 1]).not.toMatch(/ON CLUSTER|Replicated|Distributed/);
    }
  });

  it('on a cluster: a Replicated local table and a Distributed table of the same name per table', () => {
    const sql = schemaStatements('db', 'events');
    expect(sql[0]).toBe("CREATE DATABASE IF NOT EXISTS db ON CLUSTER 'events'");
    expect(sql).toHaveLength(1 + 2 * TABLES.length);
    for (const [i, spec] of TABLES.entries()) {
      const local = sql[1 + 2 * i]!;
      const distributed = sql[2 + 2 * i]!;
      expect(local).toContain(
        `CREATE TABLE IF NOT EXISTS db.${spec.table}_local ON CLUSTER 'events'`,
      );
      expect(local).toContain(
        `ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/${spec.table}_local', '{replica}')`,
      );
      expect(local).not.toMatch(/ENGINE = ReplacingMergeTree/);
      expect(distributed).toBe(
        `CREATE TABLE IF NOT EXISTS db.${spec.table} ON CLUSTER 'events' AS db.${spec.table}_local\nENGINE = Distributed('events', 'db', '${spec.table}_local', cityHash64(event_id))`,
      );
    }
  });
});
