import { prismaOptions } from "@startales/service-kit";
import { PrismaClient } from "./generated/prisma/client";

export type Db = InstanceType<typeof PrismaClient>;

export const createDb = (url: string, poolSize: number, poolWaitMs?: number): Db => new PrismaClient(prismaOptions(url, poolSize, poolWaitMs));
