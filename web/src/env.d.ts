// Module declarations for the bundler: CSS side-effect imports and hls.js's light build (same API, no types shipped).
declare module "*.css";
declare module "hls.js/light" {
  import Hls from "hls.js";
  export default Hls;
}
