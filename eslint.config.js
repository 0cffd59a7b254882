// ESLint for the map's JavaScript and its tests (`make test` runs it through
// tests/test_javascript.py): the recommended rules, no global made by accident, and no name
// used that is not declared — the browser's, Leaflet's L and supercluster's Supercluster for the
// map's modules, Node's for the tests.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", "static/", "build/", ".venv/", ".venv-prod/", "bench/out/"] },
  js.configs.recommended,
  {
    files: ["src/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, L: "readonly", Supercluster: "readonly" },
    },
    rules: { "no-implicit-globals": "error", "no-undef": "error" },
  },
  {
    files: ["tests/js/**/*.mjs", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
    rules: { "no-implicit-globals": "error", "no-undef": "error" },
  },
];
