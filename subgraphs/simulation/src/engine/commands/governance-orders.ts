import { MAX_TAX_RATE, POLICIES } from "../catalog";
import type { Civilization, Policy } from "../model";
import { reject, type Command, type Rejection } from "./command-types";
import { int, str } from "./payload";

export function applySetTax(civ: Civilization, command: Command): Rejection {
  const rate = int(command.payload, "rate", 0, MAX_TAX_RATE);
  if (rate === undefined) return reject("INVALID_PAYLOAD", `SET_TAX needs an integer rate from 0 to ${MAX_TAX_RATE}`);
  if (rate === civ.taxRate) return reject("NO_CHANGE", `tax is already ${rate}%`);
  civ.taxRate = rate;
  return null;
}

const isPolicy = (value: string): value is Policy => Object.hasOwn(POLICIES, value);

export function applySetPolicy(civ: Civilization, command: Command): Rejection {
  const policy = str(command.payload, "policy");
  if (!policy || !isPolicy(policy)) return reject("INVALID_PAYLOAD", `SET_POLICY needs one of ${Object.keys(POLICIES).join(", ")}`);
  if (policy === civ.policy) return reject("NO_CHANGE", `policy is already ${policy}`);
  civ.policy = policy;
  return null;
}
