export * from "./contract-client";
export * from "./database";
export * from "./dataset";
export * from "./engine-process";
export * from "./nats-server";
export * from "./reference";
export * from "./summaries";
