// Schema migrations for a Durable Object's SQLite: each entry runs once, in order, and the version
// reached is kept in the `schema_version` row. An object whose stored schema is newer than the code
// (a rollback after an upgrade) refuses to run rather than guess at tables it does not know.

/** Part of a SchemaTooNewError's message, by which it is known after crossing an RPC boundary. */
export const SCHEMA_TOO_NEW = "written by a newer version of the bridge";

export class SchemaTooNewError extends Error {
  constructor(
    readonly what: string,
    readonly stored: number,
    readonly known: number,
  ) {
    super(
      `${what} storage is at schema v${stored}, ${SCHEMA_TOO_NEW}; this code knows v${known}. ` +
        "Deploy that newer version again (a rollback cannot read what it wrote).",
    );
    this.name = "SchemaTooNewError";
  }
}

/** Brings the schema up to `target` (a test may stop at an older version to upgrade from it). */
export function migrate(sql: SqlStorage, what: string, migrations: readonly string[], target = migrations.length): void {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const row = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0];
  let version = row?.version ?? 0;
  if (version > migrations.length) throw new SchemaTooNewError(what, version, migrations.length);
  if (!row) sql.exec("INSERT INTO schema_version (version) VALUES (0)");
  while (version < target) {
    sql.exec(migrations[version]!);
    version += 1;
    sql.exec("UPDATE schema_version SET version = ?", version);
  }
}
