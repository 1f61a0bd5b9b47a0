// The data directory of dtbridge serve: what lives where.
import { resolve } from "node:path";

/** Every Durable Object's SQLite files, one folder per class (workerd's layout). */
export const OBJECTS_DIR = "objects";
/** Who holds the directory (see lock.ts). */
export const LOCK_FILE = "serve.lock";
/** workerd's configuration, written by serve at each start; its path identifies that workerd. */
export const WORKERD_CONFIG_FILE = "workerd.capnp";

/** --data, else DTBRIDGE_DATA, else ./.dtbridge-data. */
export function dataDirOf(flag: string | undefined, environment: Record<string, string | undefined> = process.env): string {
  return resolve(flag ?? environment.DTBRIDGE_DATA ?? ".dtbridge-data");
}
