import { SeclakeError } from '../../../core/errors.js';

/** A point the forest cannot take: wrong length, NaN or infinite (or beyond float32) coordinates. */
export class ForestInputError extends SeclakeError {
  constructor(message: string) {
    super(message);
    this.name = 'ForestInputError';
  }
}

/** Saved forest or thresholder state that cannot be read: wrong magic, newer version, truncated or inconsistent. */
export class ForestStateError extends SeclakeError {
  constructor(message: string) {
    super(message);
    this.name = 'ForestStateError';
  }
}
