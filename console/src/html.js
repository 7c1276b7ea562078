// Preact components written with tagged templates (htm): plain JavaScript, no JSX build step.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
