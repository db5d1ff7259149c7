import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { I18nextProvider } from "react-i18next";
import { BrowserRouter, Route, Routes } from "react-router";
import { PortalApiError } from "./api/client.js";
import { initI18n } from "./i18n/i18n.js";
import { MerchantLayout } from "./layout/MerchantLayout.js";
import { PortalLayout } from "./layout/PortalLayout.js";
import { LoyaltyLayout } from "./loyalty/components/LoyaltyLayout.js";
import { BackupPage } from "./pages/BackupPage.js";
import { ClaimPage } from "./pages/ClaimPage.js";
import { ConsentsPage } from "./pages/ConsentsPage.js";
import { DataUsePage } from "./pages/DataUsePage.js";
import { EditProfilePage } from "./pages/EditProfilePage.js";
import { ErasedPage } from "./pages/ErasedPage.js";
import { HistoryPage } from "./pages/HistoryPage.js";
import { HomePage } from "./pages/HomePage.js";
import { JoinPage } from "./pages/JoinPage.js";
import { LoyaltyHistoryPage } from "./pages/LoyaltyHistoryPage.js";
import { LoyaltyOverviewPage } from "./pages/LoyaltyOverviewPage.js";
import { LoyaltyRedeemPage } from "./pages/LoyaltyRedeemPage.js";
import { LoyaltyRulesPage } from "./pages/LoyaltyRulesPage.js";
import { LoyaltyTransferPage } from "./pages/LoyaltyTransferPage.js";
import { NotFoundPage } from "./pages/NotFoundPage.js";
import { ProfilePage } from "./pages/ProfilePage.js";
import { RecoverPage } from "./pages/RecoverPage.js";
import { RequestsPage } from "./pages/RequestsPage.js";
import { RestorePage } from "./pages/RestorePage.js";
import { SecurityPage } from "./pages/SecurityPage.js";
import { SigningProvider } from "./signing/SigningProvider.js";
import "../styles.css";
import "../console/console.css";
import "./portal.css";

/** Where the portal lives on the node (or on its own origin, PATRON_PORTAL_ORIGIN). */
export const PORTAL_BASE = "/me";

function createClient(): QueryClient {
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache(),
    mutationCache: new MutationCache(),
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        retry: (count, err) =>
          count < 2 && !(err instanceof PortalApiError && err.status > 0 && err.status < 500),
        refetchOnWindowFocus: false,
      },
    },
  });
  return client;
}

const client = createClient();
const i18n = initI18n();

export function PortalApp() {
  return (
    <I18nextProvider i18n={i18n}>
      <QueryClientProvider client={client}>
        <SigningProvider>
          <BrowserRouter basename={PORTAL_BASE}>
            <Routes>
              <Route element={<PortalLayout />}>
                <Route index element={<HomePage />} />
                <Route path="join/:merchant" element={<JoinPage />} />
                <Route path="claim/:merchant" element={<ClaimPage />} />
                <Route path="backup" element={<BackupPage />} />
                <Route path="restore" element={<RestorePage />} />
                <Route path="recover/:merchant" element={<RecoverPage />} />
                <Route path="m/:merchant" element={<MerchantLayout />}>
                  <Route index element={<ProfilePage />} />
                  <Route path="edit" element={<EditProfilePage />} />
                  <Route path="consents" element={<ConsentsPage />} />
                  <Route path="requests" element={<RequestsPage />} />
                  <Route path="points" element={<LoyaltyLayout />}>
                    <Route index element={<LoyaltyOverviewPage />} />
                    <Route path="history" element={<LoyaltyHistoryPage />} />
                    <Route path="rules" element={<LoyaltyRulesPage />} />
                    <Route path="transfer" element={<LoyaltyTransferPage />} />
                    <Route path="redeem" element={<LoyaltyRedeemPage />} />
                  </Route>
                  <Route path="history" element={<HistoryPage />} />
                  <Route path="data-use" element={<DataUsePage />} />
                  <Route path="security" element={<SecurityPage />} />
                </Route>
                <Route path="erased" element={<ErasedPage />} />
                <Route path="*" element={<NotFoundPage />} />
              </Route>
            </Routes>
          </BrowserRouter>
        </SigningProvider>
      </QueryClientProvider>
    </I18nextProvider>
  );
}
