/**
 * The token vault: a shopper's token PAN and expiry, and the 0100 of each authorization (which
 * carries the token PAN), are sealed under an hsm-sim data key (AES-256-GCM) before they touch
 * the store. The additional data binds each sealed value to its owner's id, so a sealed value
 * copied onto another row does not open.
 */
import type { Message } from '../iso8583/index.js';
import type { HsmPort } from '../hsm-sim/index.js';
import { assert } from '../core/index.js';
import { u128ToBlob } from './store/shoppers.js';

export interface VaultToken { readonly tokenPan: string; readonly tokenExpiry: string }

export class TokenVault {
  constructor(private readonly hsm: Pick<HsmPort, 'encrypt' | 'decrypt'>, private readonly keyId: string) {}

  async sealToken(shopperId: bigint, token: VaultToken): Promise<Uint8Array> {
    assert(/^\d{12,19}$/.test(token.tokenPan) && /^\d{4}$/.test(token.tokenExpiry), 'token PAN and YYMM expiry');
    return await this.hsm.encrypt({ keyId: this.keyId, plaintext: Buffer.from(`${token.tokenPan}=${token.tokenExpiry}`), aad: aad('shopper', shopperId) });
  }

  async openToken(shopperId: bigint, sealed: Uint8Array): Promise<VaultToken> {
    const text = (await this.hsm.decrypt({ keyId: this.keyId, sealed, aad: aad('shopper', shopperId) })).toString('latin1');
    const [tokenPan, tokenExpiry] = text.split('=');
    assert(tokenPan !== undefined && tokenExpiry !== undefined && /^\d{12,19}$/.test(tokenPan), 'vault holds PAN=YYMM');
    return { tokenPan, tokenExpiry };
  }

  async sealMessage(paymentId: bigint, message: Message): Promise<Uint8Array> {
    return await this.hsm.encrypt({ keyId: this.keyId, plaintext: Buffer.from(JSON.stringify(message)), aad: aad('payment', paymentId) });
  }

  async openMessage(paymentId: bigint, sealed: Uint8Array): Promise<Message> {
    const opened = await this.hsm.decrypt({ keyId: this.keyId, sealed, aad: aad('payment', paymentId) });
    return JSON.parse(opened.toString('utf8')) as Message;
  }
}

function aad(kind: string, id: bigint): Buffer {
  return Buffer.concat([Buffer.from(`palmswitch/vault/${kind}/v1:`), u128ToBlob(id)]);
}
