/**
 * Applies the engine's migrations to the database at argv[2] with `migrateToLatest`.
 *
 * Run under tsx as a child of the benchmark (`node --import tsx bench/src/migrate-database.ts <url>`):
 * bench/ is not a workspace package, so the bundled benchmark cannot import @agg/store
 * (its `kysely` and `pg` would not resolve from bench/dist/), while this file, run from
 * source, resolves them from packages/store/.
 */
import { migrateToLatest, openDatabase } from "../../packages/store/src/index";

const url = process.argv[2];
if (!url) {
  process.stderr.write("usage: migrate-database.ts <postgres-url>\n");
  process.exit(2);
}
const store = await openDatabase({ url, poolSize: 1 });
try {
  const report = await migrateToLatest(store.db);
  process.stdout.write(`${JSON.stringify({ applied: report.applied, warnings: report.warnings })}\n`);
} finally {
  await store.close();
}
