// Runs a FakeOpenAIServer in its own process, for benchmarks whose client must not share an
// event loop with the server. Started with an IPC channel: it reads its options as JSON from
// argv[2], sends {baseURL} once listening, replies to {type: "stats"} with the request count and
// the maximum in flight, and exits on {type: "close"} or when the channel closes.
import { FakeOpenAIServer, type FakeOpenAIOptions } from "./fake-openai-server";

export interface FakeProcessStats {
  completionRequests: number;
  maxInFlight: number;
}

const options = JSON.parse(process.argv[2] ?? "{}") as FakeOpenAIOptions;
const fake = await FakeOpenAIServer.start(options);

process.on("message", (message: { type?: string }) => {
  if (message.type === "stats") {
    const stats: FakeProcessStats = { completionRequests: fake.completionRequests().length, maxInFlight: fake.maxInFlight };
    process.send?.({ type: "stats", ...stats });
  } else if (message.type === "close") {
    void fake.close().then(() => process.exit(0));
  }
});
process.on("disconnect", () => void fake.close().then(() => process.exit(0)));
process.send?.({ type: "ready", baseURL: fake.baseURL });
