import { describe, expect, it } from 'vitest';
import { acceptClauses, OpenApiV2 } from '../../../src/apiserver/openapi-v2.js';

describe('openapi v2 content negotiation', () => {
  it.each([
    ['application/json', ['application/json']],
    ['*/*', ['*/*']],
    // q orders, then specificity, then the order written; q=0 is "not acceptable"
    ['application/json;q=0.5, application/x+protobuf', ['application/x+protobuf', 'application/json']],
    ['*/*, application/*, text/html', ['text/html', 'application/*', '*/*']],
    ['application/json;q=0, text/plain', ['text/plain']],
    ['  Application/JSON ; q=0.9 ', ['application/json']],
  ])('%s', (accept, want) => {
    expect(acceptClauses(accept)).toEqual(want);
  });

  const v2 = new OpenApiV2();
  it.each([
    [undefined, 'application/json'],
    [
      'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
      'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
    ],
    ['application/*', 'application/json'],
    ['text/html, */*;q=0.1', 'application/json'],
    [
      'application/json;q=0.1, application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
      'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
    ],
  ])('Accept %s is served as %s', (accept, type) => {
    expect(v2.negotiate(accept)?.contentType).toBe(type);
  });
  it('is not acceptable to a client that takes neither', () => {
    expect(v2.negotiate('text/html')).toBeUndefined();
    expect(v2.negotiate('application/com.github.proto-openapi.spec.v2@v1.0+protobuf;q=0')).toBeUndefined();
  });
});
