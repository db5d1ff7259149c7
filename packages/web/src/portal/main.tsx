import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { PortalApp } from "./index.js";

// The customer portal's own page (me.html), served for every path under /me: it loads none of
// the explorer's or the console's code.

const root = document.getElementById("root");
if (!root) throw new Error("me.html has no #root element");

createRoot(root).render(
  <StrictMode>
    <PortalApp />
  </StrictMode>,
);
