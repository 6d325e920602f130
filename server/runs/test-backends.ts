import path from "node:path";
import { pathToFileURL } from "node:url";
import type { BackendFactory } from "./loader";

/**
 * Loads the backend factory that tests inject into runs: the `createBackend` export of the
 * module at HSWARM_TEST_BACKEND_MODULE. It is read only when NODE_ENV is "test", so that a
 * production worker never loads code named by its environment. Returns null otherwise.
 */
export async function loadTestBackendFactory(env: NodeJS.ProcessEnv = process.env): Promise<BackendFactory | null> {
  const file = testBackendModulePath(env);
  if (file === null) return null;

  const loaded = (await import(pathToFileURL(path.resolve(file)).href)) as { createBackend?: unknown };
  if (typeof loaded.createBackend !== "function") {
    throw new Error(`HSWARM_TEST_BACKEND_MODULE ${file} must export a function createBackend`);
  }
  return loaded.createBackend as BackendFactory;
}

/** Path of the test backend module, or null unless NODE_ENV is "test" and the variable is set. */
export function testBackendModulePath(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.NODE_ENV !== "test") return null;
  const file = env.HSWARM_TEST_BACKEND_MODULE?.trim();
  return file ? file : null;
}
