/** A file the Worker serves as it is: the console's page, script and stylesheet, the OpenAPI document. */
export interface StaticFile {
  type: string;
  /** A strong validator of `body`, so a browser revalidates with one round trip and no body. */
  etag: string;
  body: string;
}
