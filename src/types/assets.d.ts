// Text and file imports used to embed views, SQL and static assets into the binary.
declare module "*.eta" {
  const text: string;
  export default text;
}
declare module "*.sql" {
  const text: string;
  export default text;
}
declare module "*.css" {
  const path: string;
  export default path;
}
declare module "*.svg" {
  const path: string;
  export default path;
}
declare module "*.min.js" {
  const path: string;
  export default path;
}
declare module "*.ttf" {
  const path: string;
  export default path;
}
// Browser scripts of our own under static/ (served as files, never imported as code).
declare module "*/static/restore-live.js" {
  const path: string;
  export default path;
}
