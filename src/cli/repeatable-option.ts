/** commander's reducer for an option given several times (`--repo A --repo B`): the values in order. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];
