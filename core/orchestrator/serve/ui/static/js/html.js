// Preact with htm's tagged templates: markup without a build step. Text and attribute values
// given as ${...} are set through the DOM, never parsed as HTML, so every name, param and error
// text the API returns stays text.
import { h, render, Component, Fragment } from '../vendor/preact/preact.mjs';
import htm from '../vendor/htm/htm.mjs';

export const html = htm.bind(h);
export { render, Component, Fragment };
