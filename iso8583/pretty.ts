/**
 * Human views of messages and specs. Masking is the default: PANs keep BIN and last four,
 * track data keeps only the masked PAN, secrets (PIN blocks, CVVs, card data inside TLV)
 * are starred. Only an explicit `unmask` shows card data.
 */
import { maskAll, maskPan, maskTrack2 } from '../core/index.js';
import type { FieldSpec, FieldValue, FieldValues, Message, MessageSpec, Sensitivity, TlvEntry } from './spec.js';

function maskValue(value: string, sensitivity: Sensitivity | undefined): string {
  switch (sensitivity) {
    case undefined: return value;
    case 'pan': return maskPan(value);
    case 'track': return maskTrack2(value);
    case 'secret': return maskAll(value);
  }
}

function maskField(value: FieldValue, spec: FieldSpec | undefined): FieldValue {
  if (typeof value === 'string') return maskValue(value, spec?.sensitive);
  const composite = spec?.subfields;
  if (Array.isArray(value)) {
    const tags = composite && (composite.kind === 'tlv' || composite.kind === 'ber-tlv') ? composite.tags : undefined;
    return value.map((entry: TlvEntry) => ({ tag: entry.tag, value: maskValue(entry.value, tags?.[entry.tag]?.sensitive ?? spec?.sensitive) }));
  }
  const subfields = composite && (composite.kind === 'positional' || composite.kind === 'bitmapped') ? composite.subfields : undefined;
  const masked: FieldValues = {};
  for (const [key, sub] of Object.entries(value)) masked[key] = maskField(sub, subfields?.[Number(key)]);
  return masked;
}

/** A copy of the message with card data masked (the default for JSON output and logs). */
export function maskMessage(message: Message, spec: MessageSpec): Message {
  const fields: FieldValues = {};
  for (const [key, value] of Object.entries(message.fields)) fields[key] = maskField(value, spec.fields[Number(key)]);
  return { mti: message.mti, fields };
}

function describeFormat(spec: FieldSpec): string {
  const length = spec.prefix ? `${'L'.repeat(spec.prefix.digits)}..${spec.length}` : String(spec.length);
  const prefix = spec.prefix ? `, ${spec.prefix.encoding} prefix` : '';
  const composite = spec.subfields ? `, ${spec.subfields.kind} subfields` : '';
  return `${spec.type} ${length}, ${spec.encoding}${prefix}${composite}`;
}

/** One line per field: number, name, value (masked unless `unmask`). */
export function formatMessage(message: Message, spec: MessageSpec, options: { unmask?: boolean } = {}): string {
  const shown = options.unmask ? message : maskMessage(message, spec);
  const lines = [`MTI ${shown.mti}  ${spec.messageTypes[shown.mti]?.description ?? '(message type not in spec)'}`];
  for (const [key, value] of Object.entries(shown.fields)) {
    const field = spec.fields[Number(key)];
    lines.push(...formatValue(`DE ${key.padStart(3, '0')}`, field?.name ?? '?', value, field, '  '));
  }
  return lines.join('\n');
}

function formatValue(label: string, name: string, value: FieldValue, spec: FieldSpec | undefined, indent: string): string[] {
  if (typeof value === 'string') return [`${indent}${label.padEnd(10)} ${name.padEnd(46)} ${value}`];
  const lines = [`${indent}${label.padEnd(10)} ${name}`];
  const composite = spec?.subfields;
  if (Array.isArray(value)) {
    const tags = composite && (composite.kind === 'tlv' || composite.kind === 'ber-tlv') ? composite.tags : undefined;
    for (const entry of value) lines.push(`${indent}  ${('tag ' + entry.tag).padEnd(10)} ${(tags?.[entry.tag]?.name ?? '').padEnd(44)} ${entry.value}`);
    return lines;
  }
  const subfields = composite && (composite.kind === 'positional' || composite.kind === 'bitmapped') ? composite.subfields : undefined;
  for (const [key, sub] of Object.entries(value)) {
    const subSpec = subfields?.[Number(key)];
    lines.push(...formatValue(`.${key}`, subSpec?.name ?? '?', sub, subSpec, indent + '  '));
  }
  return lines;
}

/** The spec as a table: every field with its format, and the message types it carries. */
export function describeSpec(spec: MessageSpec): string {
  const lines = [`${spec.name}: ${spec.description}`, `MTI ${spec.mti.encoding}, bitmap ${spec.bitmap.encoding}${spec.ebcdicCodePage ? `, EBCDIC code page ${spec.ebcdicCodePage}` : ''}`, ''];
  for (const key of Object.keys(spec.fields).map(Number).sort((a, b) => a - b)) {
    const field = spec.fields[key]!;
    lines.push(`DE ${String(key).padStart(3, '0')}  ${field.name.padEnd(44)} ${describeFormat(field)}${field.sensitive ? ` [${field.sensitive}, masked]` : ''}`);
  }
  lines.push('', 'message types (mandatory / optional fields):');
  for (const [mti, rule] of Object.entries(spec.messageTypes)) {
    lines.push(`${mti}  ${rule.description.padEnd(36)} ${rule.mandatory.join(',')} / ${rule.optional.join(',')}`);
  }
  return lines.join('\n');
}
