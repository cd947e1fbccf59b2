import { z } from "zod";

const id = z.uuid("must be a valid ID");

export const postMessageInput = z.object({
  channelId: id,
  text: z.string().trim().min(1, "must not be empty").max(2000, "must be at most 2000 characters"),
  idempotencyKey: z.string().min(1, "must not be empty").max(128, "must be at most 128 characters"),
});

export const editMessageInput = z.object({
  id,
  text: z.string().trim().min(1, "must not be empty").max(2000, "must be at most 2000 characters"),
});

export const allianceChannelInput = z.object({
  campaignId: id,
  name: z.string().trim().min(1, "must not be empty").max(64, "must be at most 64 characters"),
  memberIds: z.array(id).max(100, "must have at most 100 members"),
});

export const directChannelInput = z.object({ campaignId: id, userId: id });

export const messagesPage = z.object({
  channelId: id,
  first: z.number().int().min(1, "must be at least 1").max(200, "must be at most 200").nullish().transform((v) => v ?? 50),
  before: id.nullish(),
});

export const setPresenceInput = z.object({
  campaignId: id,
  status: z.enum(["ONLINE", "AWAY"], { error: "must be ONLINE or AWAY" }),
});
