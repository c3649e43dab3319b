// Chairside behaviour that would otherwise need inline script (the CSP forbids it). Keep it small.
"use strict";
