// Vite build of the Reelstack web client: one page, assets hashed under dist/assets, served at "/".
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, target: "es2020", chunkSizeWarningLimit: 700 },
  server: { proxy: { "/api": "http://127.0.0.1:8000", "/media": "http://127.0.0.1:8000" } },
});
