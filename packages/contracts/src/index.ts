export * from "./envelope";
export * from "./events";
export * from "./families";
export * from "./topics";
export * from "./validate";
