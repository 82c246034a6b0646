/**
 * Opens the gallery with its sealed templates opened many at a time. `Gallery.open` opens
 * them one by one (one hsm-sim round trip each, awaited in turn): 100,000 templates took
 * 21-23 s of gateway start. Here the gallery opens over an empty listing and the templates
 * are opened by hsm-sim with up to `template_opens_in_flight_max` requests outstanding (the
 * client spreads them over its connections), then added to the index, with the same
 * key-version check as `Gallery.open`.
 */
import {
  BiometricError, Gallery, openTemplate, type GalleryOptions, type TemplateStore,
} from '../biometric/index.js';

/** hsm-sim decrypt requests outstanding while templates are opened at start. */
export const template_opens_in_flight_max = 128;

export interface CountedTemplateStore extends TemplateStore {
  /** How many templates `list()` will yield (to size the index once). */
  templateCount(): number;
}

export async function openGalleryParallel(options: GalleryOptions & { store: CountedTemplateStore }): Promise<Gallery> {
  const { store } = options;
  // The gallery writes and deletes through the real store; only its initial listing is ours.
  const gallery = await Gallery.open({
    ...options,
    store: { put: (identity, sealed) => store.put(identity, sealed), delete: (identity) => store.delete(identity), list: emptyListing },
  });
  gallery.index.reserve(gallery.index.size + store.templateCount());
  const inFlight = new Set<Promise<void>>();
  let failure: Error | undefined;
  for await (const { identity, sealed } of store.list()) {
    if (failure !== undefined) break;
    const opening = openTemplate(options.keys, options.dataKeyId, identity, sealed).then(({ template, keyVersion }) => {
      if (keyVersion !== gallery.keyVersion) throw new BiometricError('template_key_mismatch', `template of key version ${keyVersion}, gallery at ${gallery.keyVersion}`);
      gallery.index.add(identity, template);
    }).catch((error: unknown) => { failure ??= error instanceof Error ? error : new Error(String(error)); }).finally(() => { inFlight.delete(opening); });
    inFlight.add(opening);
    if (inFlight.size >= template_opens_in_flight_max) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  return gallery;
}

// eslint-disable-next-line require-yield -- an empty listing: Gallery.open finds nothing to open itself
async function* emptyListing(): AsyncIterable<{ identity: bigint; sealed: Uint8Array }> {
  await Promise.resolve();
}
