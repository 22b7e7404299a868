/**
 * AMQP topic matching, for the in-process bus: words are separated by dots,
 * `*` matches exactly one word and `#` any number of words (zero included).
 */
export type TopicMatcher = (routingKey: string) => boolean;

export function createTopicMatcher(patterns: readonly string[]): TopicMatcher {
  const compiled = patterns.map((pattern) => pattern.split('.'));
  return (routingKey) => {
    const words = routingKey.split('.');
    return compiled.some((pattern) => matches(pattern, 0, words, 0));
  };
}

function matches(pattern: readonly string[], p: number, words: readonly string[], w: number): boolean {
  if (p === pattern.length) return w === words.length;
  const head = pattern[p];
  if (head === '#') {
    // `#` takes zero words, or one more and stays.
    return matches(pattern, p + 1, words, w) || (w < words.length && matches(pattern, p, words, w + 1));
  }
  if (w === words.length) return false;
  return (head === '*' || head === words[w]) && matches(pattern, p + 1, words, w + 1);
}
