/** Sensitive payload fields: sealed at rest (AES-256-GCM, key ids for rotation), opened only in the worker, masked for people. */
export { EncryptionKeyMissingError, SealedFieldError, type SealedFieldFailure } from './payload-crypto-errors.ts';
export { DEV_PAYLOAD_KEY_ID, KEY_ID_PATTERN, PAYLOAD_KEY_BYTES, parsePayloadKeys, PayloadKeysError, type PayloadKey } from './payload-keys.ts';
export { createPayloadSealer, sensitiveFieldsOf, type PayloadSealer, type PayloadSealerOptions, type SensitiveKind } from './payload-sealer.ts';
export { maskFor, maskSensitive, SENSITIVE_MASK } from './mask-sensitive.ts';
export { payloadPathProblems, readPath } from './payload-path.ts';
export { withExampleForSealed } from './schema-check.ts';
export { isSealed, looksSealed, SEALED_MARKER, SEALED_VERSION, sealedValueSchema, type SealedValue } from './sealed-value.ts';
