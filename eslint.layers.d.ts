export declare const ENTRIES: readonly string[];
export declare const LAYERS: Readonly<Record<string, readonly string[]>>;
