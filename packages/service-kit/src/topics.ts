// The topics are part of the contracts between services (@startales/contracts); the kit
// re-exports them for the modules that publish and read streams.
export { Topics, isConsumerTrimmedTopic, timelineTopics, topicFamily } from "@startales/contracts";
