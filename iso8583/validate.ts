/**
 * Validation against the message type: a message can be well-formed field by field and
 * still be wrong for its MTI (an 0100 without an amount, an 0800 with a PAN). The dialect's
 * table says which fields each message type carries.
 */
import { Iso8583Error } from './errors.js';
import type { Message, MessageSpec } from './spec.js';

/** Every problem with the message's field set, empty when it is valid for its MTI. */
export function validateMessage(message: Message, spec: MessageSpec): Iso8583Error[] {
  const rule = spec.messageTypes[message.mti];
  if (!rule) return [new Iso8583Error('message_type_unknown', `spec ${spec.name} does not carry MTI ${message.mti}`, 'mti', 0)];
  const problems: Iso8583Error[] = [];
  const allowed = new Set([...rule.mandatory, ...rule.optional]);
  for (const id of rule.mandatory) {
    if (message.fields[id] === undefined) problems.push(new Iso8583Error('field_missing', `${rule.description} (${message.mti}) requires field ${id}`, String(id), 0));
  }
  for (const key of Object.keys(message.fields)) {
    if (!allowed.has(Number(key))) problems.push(new Iso8583Error('field_not_allowed', `${rule.description} (${message.mti}) does not carry field ${key}`, key, 0));
  }
  return problems;
}
