/** The bridge's version, as package.json says (a test holds the two together). */
export const BRIDGE_VERSION = "0.3.1";
