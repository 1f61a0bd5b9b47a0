// What every route can read from the request context.
import type { AppConfig } from "../config/apps";
import type { BridgeConfig } from "../config/load";
import type { Scope } from "../config/tokens";

export interface BridgeEnv {
  Bindings: Env;
  Variables: {
    config: BridgeConfig;
    app: AppConfig;
    requestId: string;
    /** What the request's consumer token may do. */
    scopes: readonly Scope[];
  };
}
