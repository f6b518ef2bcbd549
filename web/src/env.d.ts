/// <reference types="vite/client" />

declare module 'virtual:parley-emoji' {
  const groups: Array<Array<[string, string, string, string]>>;
  export default groups;
}
