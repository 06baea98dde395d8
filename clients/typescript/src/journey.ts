// A vendor's client for `fama serve`, in TypeScript: types generated from schemas/openapi.json by
// openapi-typescript, requests made by openapi-fetch. It records a client's first FAMA session,
// reads the record back, and shows what a stale write gets. Usage:
//   node dist/journey.js BASE_URL CLIENT_ID   (the bearer token in FAMA_TOKEN)
// It prints one JSON object: what it sent, what it read back, and the stale write's problem.
import createClient from "openapi-fetch";
import type { components, paths } from "./fama-api.js";

type Event = components["schemas"]["EpisodeOpened"] | components["schemas"]["Session1Held"];

const [baseUrl, clientId] = process.argv.slice(2);
const token = process.env.FAMA_TOKEN;
if (!baseUrl || !clientId || !token) {
  console.error("usage: FAMA_TOKEN=… node dist/journey.js BASE_URL CLIENT_ID");
  process.exit(2);
}

const fama = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

const common = {
  client_id: clientId,
  episode_id: `${clientId}-ep1`,
  keyworker_id: "kw-ts",
  occurred_on: "2026-03-02",
  recorded_at: "2026-03-02T17:00:00Z",
  schema_version: 1 as const,
};
const steps = [
  "s1.identify_need",
  "s1.introduce",
  "s1.past_experience",
  "s1.give_information",
  "s1.meeting_schedule",
  "s1.prepare_next",
  "s1.set_goals",
  "s1.handouts_and_journal",
] as const;
const events: Event[] = [
  { ...common, event_id: `${clientId}-e1`, kind: "episode_opened", team_id: "team-ts" },
  {
    ...common,
    event_id: `${clientId}-e2`,
    kind: "session_1_held",
    steps: steps.map((step) => ({ step, status: "done" as const })),
    past_experience: { level: "none", organisations: [] },
    handouts_given: ["1", "2", "3", "4", "5a", "5b", "5c", "6a", "6b", "6c", "10"],
    journal_given: true,
  },
];

async function main(): Promise<void> {
  const due = await fama.GET("/v1/clients/{client_id}/due", {
    params: { path: { client_id: clientId! } },
  });
  if (!due.data) throw new Error(`due next failed: ${due.response.status}`);

  const recorded = await fama.POST("/v1/clients/{client_id}/events", {
    params: { path: { client_id: clientId! }, header: { "if-match": `"${due.data.version}"` } },
    body: events,
  });
  if (!recorded.data) throw new Error(`record failed: ${JSON.stringify(recorded.error)}`);

  const state = await fama.GET("/v1/clients/{client_id}", {
    params: { path: { client_id: clientId! } },
  });
  const stored = await fama.GET("/v1/clients/{client_id}/events", {
    params: { path: { client_id: clientId! }, query: { reveal: true } },
  });

  // A second screen still showing version 0 tries to save: the service refuses it.
  const stale = await fama.POST("/v1/clients/{client_id}/events", {
    params: { path: { client_id: clientId! }, header: { "if-match": '"0"' } },
    body: [{ ...common, event_id: `${clientId}-e3`, kind: "episode_opened" }],
  });

  console.log(
    JSON.stringify({
      sent: events,
      recorded: recorded.data,
      etag: recorded.response.headers.get("etag"),
      state: state.data ? { version: state.data.version, status: state.data.status } : null,
      stored: (stored.data ?? []).map((s) => s.event),
      stale: { status: stale.response.status, problem: stale.error ?? null },
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
