// What every route can read from the request context.
import type { AppConfig } from "../config/apps";
import type { BridgeConfig } from "../config/load";

export interface BridgeEnv {
  Bindings: Env;
  Variables: {
    config: BridgeConfig;
    app: AppConfig;
    requestId: string;
  };
}
