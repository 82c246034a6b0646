/**
 * Block-cipher primitives of the HSM: triple-DES block operations with padding off
 * (node:crypto; WebCrypto has no unpadded TDES), ISO 9797-1 MAC algorithms 1 and 3 (the
 * X9.19 retail MAC of ISO 8583 DE 64/128), CMAC over any 64- or 128-bit block cipher
 * (NIST SP 800-38B, needed for TDES-CMAC in TR-31 version B blocks), AES-CMAC through
 * @peculiar/webcrypto, key check values and DES parity. Pure functions, no key storage.
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual, type Cipher, type webcrypto as NodeWebCrypto } from 'node:crypto';
import { Crypto } from '@peculiar/webcrypto';
import { assert } from '../core/index.js';

/**
 * @peculiar/webcrypto's typings lean on the DOM lib, which our compiler settings leave out;
 * its object implements the same W3C interface that @types/node describes, so we type it so.
 */
export const webcrypto = new Crypto() as unknown as NodeWebCrypto.Crypto;
export type WebCryptoKey = NodeWebCrypto.CryptoKey;

export const TDES_BLOCK_BYTES = 8;
export const AES_BLOCK_BYTES = 16;
export const KCV_BYTES = 3;

/** node:crypto cipher name for a DES-family key: 8 bytes is single DES run as EDE with K1=K2=K3. */
function tdesCipher(key: Uint8Array, mode: 'ecb' | 'cbc'): { name: string; key: Buffer } {
  if (key.length === 8) return { name: `des-ede3-${mode}`, key: Buffer.concat([key, key, key]) };
  if (key.length === 16) return { name: `des-ede-${mode}`, key: Buffer.from(key) };
  assert(key.length === 24, `TDES key must be 8, 16 or 24 bytes, got ${key.length}`);
  return { name: `des-ede3-${mode}`, key: Buffer.from(key) };
}

function aesCipher(key: Uint8Array, mode: 'ecb' | 'cbc'): string {
  assert(key.length === 16 || key.length === 24 || key.length === 32, `AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  return `aes-${key.length * 8}-${mode}`;
}

export type BlockAlgorithm = 'tdes' | 'aes';

export function blockBytes(algorithm: BlockAlgorithm): number {
  return algorithm === 'tdes' ? TDES_BLOCK_BYTES : AES_BLOCK_BYTES;
}

/** CBC (or ECB when `iv` is omitted) encryption without padding; `data` must be whole blocks. */
export function encryptBlocks(algorithm: BlockAlgorithm, key: Uint8Array, data: Uint8Array, iv?: Uint8Array): Buffer {
  assert(data.length % blockBytes(algorithm) === 0, 'data must be whole blocks');
  const mode = iv ? 'cbc' : 'ecb';
  const { name, key: cipherKey } = algorithm === 'tdes' ? tdesCipher(key, mode) : { name: aesCipher(key, mode), key: Buffer.from(key) };
  const cipher = createCipheriv(name, cipherKey, iv ?? null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

export function decryptBlocks(algorithm: BlockAlgorithm, key: Uint8Array, data: Uint8Array, iv?: Uint8Array): Buffer {
  assert(data.length % blockBytes(algorithm) === 0, 'data must be whole blocks');
  const mode = iv ? 'cbc' : 'ecb';
  const { name, key: cipherKey } = algorithm === 'tdes' ? tdesCipher(key, mode) : { name: aesCipher(key, mode), key: Buffer.from(key) };
  const decipher = createDecipheriv(name, cipherKey, iv ?? null);
  decipher.setAutoPadding(false);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

/** ISO 9797-1 padding method 1 (zeros; X9.19) or 2 (0x80 then zeros; EMV). */
export function padIso9797(data: Uint8Array, method: 1 | 2, block: number): Buffer {
  if (method === 1) {
    // Method 1 pads empty data to one zero block (ISO 9797-1:2011 §6.1.2).
    const length = data.length === 0 ? block : Math.ceil(data.length / block) * block;
    const out = Buffer.alloc(length);
    out.set(data);
    return out;
  }
  const out = Buffer.alloc(Math.floor(data.length / block) * block + block);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

/** ISO 9797-1 MAC algorithm 1 (CBC-MAC) with the DES-family key as given; returns the full 8-byte block. */
export function macAlgorithm1(key: Uint8Array, data: Uint8Array, padding: 1 | 2 = 1): Buffer {
  const padded = padIso9797(data, padding, TDES_BLOCK_BYTES);
  const chained = encryptBlocks('tdes', key, padded, Buffer.alloc(TDES_BLOCK_BYTES));
  return chained.subarray(chained.length - TDES_BLOCK_BYTES);
}

/**
 * ISO 9797-1 MAC algorithm 3 (ANSI X9.19 retail MAC) with a double-length key K1||K2:
 * single-DES CBC under K1, then output transformation 3 on the last block. Running the
 * last block through EDE(K1,K2,K1) with the previous chaining value as IV is the same thing.
 */
export function retailMac(key: Uint8Array, data: Uint8Array, padding: 1 | 2 = 1): Buffer {
  assert(key.length === 16, 'retail MAC needs a double-length (16-byte) key');
  const padded = padIso9797(data, padding, TDES_BLOCK_BYTES);
  const k1 = key.subarray(0, 8);
  const head = padded.subarray(0, padded.length - TDES_BLOCK_BYTES);
  const last = padded.subarray(padded.length - TDES_BLOCK_BYTES);
  let chaining: Uint8Array = Buffer.alloc(TDES_BLOCK_BYTES);
  if (head.length > 0) {
    const chained = encryptBlocks('tdes', k1, head, chaining);
    chaining = chained.subarray(chained.length - TDES_BLOCK_BYTES);
  }
  return encryptBlocks('tdes', key, last, chaining);
}

/** Doubling in GF(2^n) for CMAC subkeys: R64 = 0x1B, R128 = 0x87 (SP 800-38B §5.3). */
function doubleBlock(block: Uint8Array): Buffer {
  const out = Buffer.alloc(block.length);
  let carry = 0;
  for (let i = block.length - 1; i >= 0; i -= 1) {
    const byte = block[i] ?? 0;
    out[i] = ((byte << 1) | carry) & 0xff;
    carry = byte >>> 7;
  }
  if (carry) out[out.length - 1] = (out[out.length - 1] ?? 0) ^ (block.length === 8 ? 0x1b : 0x87);
  return out;
}

/** CMAC (NIST SP 800-38B, RFC 4493 for AES) over TDES or AES; returns the full block. */
export function cmac(algorithm: BlockAlgorithm, key: Uint8Array, data: Uint8Array): Buffer {
  const block = blockBytes(algorithm);
  const l = encryptBlocks(algorithm, key, Buffer.alloc(block));
  const k1 = doubleBlock(l);
  const k2 = doubleBlock(k1);
  const complete = data.length > 0 && data.length % block === 0;
  const padded = complete ? Buffer.from(data) : padIso9797(data, 2, block);
  const tail = padded.length - block;
  const subkey = complete ? k1 : k2;
  for (let i = 0; i < block; i += 1) padded[tail + i] = (padded[tail + i] ?? 0) ^ (subkey[i] ?? 0);
  const chained = encryptBlocks(algorithm, key, padded, Buffer.alloc(block));
  return chained.subarray(chained.length - block);
}

/** AES-CMAC through @peculiar/webcrypto (the provider the issue names); a 16-byte tag. */
export async function aesCmacKey(key: Uint8Array): Promise<WebCryptoKey> {
  return await webcrypto.subtle.importKey('raw', key, { name: 'AES-CMAC', length: key.length * 8 }, false, ['sign']);
}

export async function aesCmac(key: WebCryptoKey | Uint8Array, data: Uint8Array): Promise<Buffer> {
  const cryptoKey = key instanceof Uint8Array ? await aesCmacKey(key) : key;
  // AES-CMAC is a @peculiar extension of WebCrypto: its parameters are not in the W3C types.
  const algorithm: NodeWebCrypto.Algorithm & { length: number } = { name: 'AES-CMAC', length: 128 };
  const tag = await webcrypto.subtle.sign(algorithm, cryptoKey, data);
  return Buffer.from(tag);
}

/** TDES KCV: first 3 bytes of encrypting a zero block (X9.24-1). */
export function kcvTdes(key: Uint8Array): string {
  return encryptBlocks('tdes', key, Buffer.alloc(TDES_BLOCK_BYTES)).subarray(0, KCV_BYTES).toString('hex').toUpperCase();
}

/** AES KCV: first 3 bytes of the CMAC of a zero block (X9.24-1:2017 for AES keys). */
export async function kcvAes(key: Uint8Array): Promise<string> {
  return (await aesCmac(key, Buffer.alloc(AES_BLOCK_BYTES))).subarray(0, KCV_BYTES).toString('hex').toUpperCase();
}

/** HMAC keys have no standard KCV; ours is the first 3 bytes of HMAC-SHA-256 over a zero block. */
export function kcvHmac(key: Uint8Array): string {
  return createHmac('sha256', key).update(Buffer.alloc(AES_BLOCK_BYTES)).digest().subarray(0, KCV_BYTES).toString('hex').toUpperCase();
}

/** Sets odd parity on every byte of a DES-family key (the low bit is the parity bit). */
export function withOddParity(key: Uint8Array): Buffer {
  const out = Buffer.from(key);
  for (let i = 0; i < out.length; i += 1) {
    const high = (out[i] ?? 0) & 0xfe;
    let ones = 0;
    for (let bit = 1; bit < 8; bit += 1) ones += (high >>> bit) & 1;
    out[i] = high | (ones % 2 === 0 ? 1 : 0);
  }
  return out;
}

export function hasOddParity(key: Uint8Array): boolean {
  return withOddParity(key).equals(Buffer.from(key));
}

/** Constant-time comparison of a received (possibly truncated) MAC against the computed one. */
export function macMatches(computed: Uint8Array, received: Uint8Array): boolean {
  if (received.length === 0 || received.length > computed.length) return false;
  return timingSafeEqual(Buffer.from(computed.subarray(0, received.length)), Buffer.from(received));
}

/**
 * A CBC encryptor kept open across messages. Creating a cipher costs far more than running
 * it (OpenSSL fetches the algorithm each time), so a key's MAC path keeps one: before each
 * message the first block is XORed with the previous message's last ciphertext block, which
 * cancels the chaining carried over and gives CBC with a zero IV again.
 */
class ReusableCbc {
  private readonly cipher: Cipher;
  private readonly block: number;
  private chaining: Buffer;

  constructor(key: Uint8Array, algorithm: BlockAlgorithm = 'tdes') {
    this.block = blockBytes(algorithm);
    const { name, key: cipherKey } = algorithm === 'tdes' ? tdesCipher(key, 'cbc') : { name: aesCipher(key, 'cbc'), key: Buffer.from(key) };
    this.chaining = Buffer.alloc(this.block);
    this.cipher = createCipheriv(name, cipherKey, Buffer.alloc(this.block));
    this.cipher.setAutoPadding(false);
  }

  /** Last block of the zero-IV CBC encryption of `blocks` (whole blocks; the buffer is overwritten). */
  lastBlock(blocks: Buffer): Buffer {
    assert(blocks.length > 0 && blocks.length % this.block === 0, 'whole blocks');
    for (let i = 0; i < this.block; i += 1) blocks[i] = (blocks[i] ?? 0) ^ (this.chaining[i] ?? 0);
    const out = this.cipher.update(blocks);
    assert(out.length === blocks.length, 'CBC without padding returns every block');
    this.chaining = out.subarray(out.length - this.block);
    return Buffer.from(this.chaining);
  }
}

/** ISO 9797-1 MACs for one DES-family key, with its cipher objects kept between calls. Same results as `retailMac` and `macAlgorithm1`. */
export class MacContext {
  private head?: ReusableCbc;
  private finalEcb?: Cipher;
  private full?: ReusableCbc;

  constructor(private readonly key: Uint8Array) {}

  retail(data: Uint8Array, padding: 1 | 2 = 1): Buffer {
    assert(this.key.length === 16, 'retail MAC needs a double-length (16-byte) key');
    const padded = padIso9797(data, padding, TDES_BLOCK_BYTES);
    const headLength = padded.length - TDES_BLOCK_BYTES;
    this.head ??= new ReusableCbc(this.key.subarray(0, 8));
    const chaining = headLength > 0 ? this.head.lastBlock(Buffer.from(padded.subarray(0, headLength))) : Buffer.alloc(TDES_BLOCK_BYTES);
    const last = padded.subarray(headLength);
    for (let i = 0; i < TDES_BLOCK_BYTES; i += 1) last[i] = (last[i] ?? 0) ^ (chaining[i] ?? 0);
    if (!this.finalEcb) {
      // ECB is stateless per block, so one open cipher serves every message's output transformation.
      this.finalEcb = createCipheriv('des-ede-ecb', Buffer.from(this.key), null);
      this.finalEcb.setAutoPadding(false);
    }
    return Buffer.from(this.finalEcb.update(last));
  }

  algorithm1(data: Uint8Array, padding: 1 | 2 = 1): Buffer {
    this.full ??= new ReusableCbc(this.key);
    return this.full.lastBlock(padIso9797(data, padding, TDES_BLOCK_BYTES));
  }
}

/**
 * AES-CMAC (RFC 4493) for one key with its subkeys and cipher kept between calls. The MAC
 * command uses this rather than @peculiar/webcrypto's AES-CMAC, which builds a new AES
 * cipher per block and recomputes the subkeys per call (about 12 times slower here); the
 * tests hold both to RFC 4493 and to each other.
 */
export class CmacContext {
  private readonly cbc: ReusableCbc;
  private readonly k1: Buffer;
  private readonly k2: Buffer;

  constructor(key: Uint8Array) {
    const l = encryptBlocks('aes', key, Buffer.alloc(AES_BLOCK_BYTES));
    this.k1 = doubleBlock(l);
    this.k2 = doubleBlock(this.k1);
    this.cbc = new ReusableCbc(key, 'aes');
  }

  mac(data: Uint8Array): Buffer {
    const complete = data.length > 0 && data.length % AES_BLOCK_BYTES === 0;
    const padded = complete ? Buffer.from(data) : padIso9797(data, 2, AES_BLOCK_BYTES);
    const tail = padded.length - AES_BLOCK_BYTES;
    const subkey = complete ? this.k1 : this.k2;
    for (let i = 0; i < AES_BLOCK_BYTES; i += 1) padded[tail + i] = (padded[tail + i] ?? 0) ^ (subkey[i] ?? 0);
    return this.cbc.lastBlock(padded);
  }
}
