import type { BackendFactory } from "../../server/runs/loader";

// Backend factory the e2e worker loads through HSWARM_TEST_BACKEND_MODULE: the built-in
// simulated backend with a fixed delay per call, so that a run lasts long enough for the browser
// to watch it live, pause it and cancel it.

const delayMs = Number(process.env.HSWARM_E2E_CALL_DELAY_MS ?? "0");

export const createBackend: BackendFactory = ({ defaultBackend }) => {
  if (defaultBackend === null || !(delayMs > 0)) return null;
  return {
    modelIdentity: (model) => defaultBackend.modelIdentity(model),
    generate: async (request) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return defaultBackend.generate(request);
    },
  };
};
