export { createEventBus, type EventBus, type SubscribeOptions, type Subscription } from "./bus.ts";
export type { BusEvent, BusEventType, RunProgress } from "./types.ts";
