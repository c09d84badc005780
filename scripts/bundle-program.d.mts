/**
 * Bundles `entry` into `outfile` (see bundle-program.mjs); with `split`, dynamic
 * imports become chunks under `chunks/` beside it.
 * @returns the third-party packages the bundle imports that its folder cannot resolve.
 */
export function bundleProgram(
  entry: string,
  outfile: string,
  options?: { split?: boolean },
): Promise<string[]>;
