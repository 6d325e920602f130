import { createCallerFactory, router } from "./init";
import { modelsRouter } from "./routers/models";
import { poolsRouter } from "./routers/pools";
import { runsRouter } from "./routers/runs";
import { systemsRouter } from "./routers/systems";
import { tasksRouter } from "./routers/tasks";

/** The HSwarm API: one router per domain noun, with verb-named procedures. */
export const appRouter = router({
  pools: poolsRouter,
  models: modelsRouter,
  tasks: tasksRouter,
  runs: runsRouter,
  systems: systemsRouter,
});

export type AppRouter = typeof appRouter;

/** Calls procedures in-process, for tests and server-side code. */
export const createCaller = createCallerFactory(appRouter);
