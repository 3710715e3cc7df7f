// ESLint for the app's browser code (explorer/*.js): ES modules that Streamlit's components.v2 loads
// inline in the page, so browser globals and no bundler. Run from the repository root:
//   make lint-js        (tools/js/node_modules/.bin/eslint -c tools/js/eslint.config.mjs explorer)
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["explorer/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: globals.browser,
    },
    rules: {
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-var": "error",
      "prefer-const": "error",
      "no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_" }],
      "no-shadow": "error",
    },
  },
];
