// What the vitest global setup (test/harness/fake-dingtalk/vitest-setup.ts) provides to the workerd tests.
export {};

declare module "vitest" {
  export interface ProvidedContext {
    fakeDingTalkUrl: string;
  }
}
