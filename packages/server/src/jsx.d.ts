import 'hono/jsx'

declare module 'hono/jsx' {
  namespace JSX {
    interface IntrinsicElements {
      /** The log viewer (assets/log-view.js). */
      'wtflow-log': { 'data-src': string; 'data-stream': string; 'data-live': string }
    }
  }
}
