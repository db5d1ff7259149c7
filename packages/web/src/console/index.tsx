import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { I18nextProvider } from "react-i18next";
import { BrowserRouter, Navigate, Route, Routes } from "react-router";
import { ConsoleApiError } from "./api/client.js";
import { initI18n } from "./i18n/i18n.js";
import { ConsoleLayout, RequireSession } from "./layout/ConsoleLayout.js";
import {
  AcceptInvitationPage,
  ForgotPasswordPage,
  ResetPasswordPage,
} from "./pages/AccountPages.js";
import { ComparePage } from "./pages/ComparePage.js";
import { ConsentsPage } from "./pages/ConsentsPage.js";
import { CustomerPage } from "./pages/CustomerPage.js";
import { CustomersPage } from "./pages/CustomersPage.js";
import { ImportDetailPage } from "./pages/ImportDetailPage.js";
import { ImportPage } from "./pages/ImportPage.js";
import {
  LoyaltyAdjustmentsPage,
  LoyaltyCataloguePage,
  LoyaltyTillPage,
} from "./pages/LoyaltyOpsPages.js";
import {
  LoyaltyLiabilityPage,
  LoyaltyMembersPage,
  LoyaltyProgrammePage,
  LoyaltyRulePage,
  LoyaltyRulesPage,
} from "./pages/LoyaltyPages.js";
import { NotFoundPage } from "./pages/NotFoundPage.js";
import { RequestsPage } from "./pages/RequestsPage.js";
import { SegmentsPage } from "./pages/SegmentsPage.js";
import { SignInPage } from "./pages/SignInPage.js";
import { TeamPage } from "./pages/TeamPage.js";
import { SESSION_KEY } from "./session/hooks/useSession.js";
import "../styles.css";
import "./console.css";

/** Where the console lives on the node; its routes are relative to it. */
export const CONSOLE_BASE = "/console";

function createClient(): QueryClient {
  // A 401 anywhere means the session ended (expired, signed out in another tab, the staff user
  // disabled): the session is read again, and the pages fall back to the sign-in form.
  const onError = (err: unknown) => {
    if (err instanceof ConsoleApiError && err.status === 401) {
      client.invalidateQueries({ queryKey: SESSION_KEY });
    }
  };
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        retry: (count, err) =>
          count < 2 && !(err instanceof ConsoleApiError && err.status > 0 && err.status < 500),
        refetchOnWindowFocus: false,
      },
    },
  });
  return client;
}

const client = createClient();
const i18n = initI18n();

export function ConsoleApp() {
  return (
    <I18nextProvider i18n={i18n}>
      <QueryClientProvider client={client}>
        <BrowserRouter basename={CONSOLE_BASE}>
          <Routes>
            <Route element={<ConsoleLayout />}>
              <Route path="sign-in" element={<SignInPage />} />
              {/* The emailed links of staff/staff.ts land here. */}
              <Route path="accept-invitation" element={<AcceptInvitationPage />} />
              <Route path="reset-password" element={<ResetPasswordPage />} />
              <Route path="forgot-password" element={<ForgotPasswordPage />} />
              <Route element={<RequireSession />}>
                <Route index element={<Navigate to="customers" replace />} />
                <Route path="customers" element={<CustomersPage />} />
                <Route path="customers/:id" element={<CustomerPage />} />
                <Route path="customers/:id/compare/:otherId" element={<ComparePage />} />
                <Route path="segments" element={<SegmentsPage />} />
                <Route path="consents" element={<ConsentsPage />} />
                <Route path="requests" element={<RequestsPage />} />
                <Route path="loyalty" element={<Navigate to="rules" replace />} />
                <Route path="loyalty/programme" element={<LoyaltyProgrammePage />} />
                <Route path="loyalty/rules" element={<LoyaltyRulesPage />} />
                <Route path="loyalty/rules/new" element={<LoyaltyRulePage />} />
                <Route path="loyalty/rules/:id" element={<LoyaltyRulePage />} />
                <Route path="loyalty/members" element={<LoyaltyMembersPage />} />
                <Route path="loyalty/liability" element={<LoyaltyLiabilityPage />} />
                <Route path="loyalty/catalogue" element={<LoyaltyCataloguePage />} />
                <Route path="loyalty/adjustments" element={<LoyaltyAdjustmentsPage />} />
                <Route path="loyalty/till" element={<LoyaltyTillPage />} />
                <Route path="import" element={<ImportPage />} />
                <Route path="import/:id" element={<ImportDetailPage />} />
                <Route path="team" element={<TeamPage />} />
                <Route path="*" element={<NotFoundPage />} />
              </Route>
            </Route>
          </Routes>
        </BrowserRouter>
      </QueryClientProvider>
    </I18nextProvider>
  );
}
