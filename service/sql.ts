// SQL fragments the store's migrations and the repositories share.

/**
 * `column` divided by `unit` and rounded down, as Math.floor does everywhere else: SQLite's integer
 * division rounds toward zero, which would file an instant before 1970 a day (or hour) late.
 */
export const sqlFloorDiv = (column: string, unit: number) => `(${column} / ${unit} - (${column} % ${unit} < 0))`;
