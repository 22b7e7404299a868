import type { GraphQLResolveInfo } from 'graphql';
import type { Order as OrderModel, OrderChange as OrderChangeModel, WriteReceipt as WriteReceiptModel } from '../orders/types.js';
import type { GraphQLContext } from '../context.js';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
};

export type Mutation = {
  readonly __typename?: 'Mutation';
  /** These stand in for the owning service: they publish an event, and never write the read view. */
  readonly placeOrder: WriteReceipt;
  /**
   * Renews the credentials of the WebSocket connection it is sent over, without
   * reconnecting: the token must be valid and name the same sub, or the
   * connection is closed with 4403. Subscriptions the new token no longer allows
   * end with an error (extensions.code FORBIDDEN) and complete; the others go on.
   * Over HTTP there is no connection to renew: an error with extensions.code BAD_REQUEST.
   */
  readonly refreshSession: Session;
  readonly removeOrder: WriteReceipt;
  readonly setOrderStatus: WriteReceipt;
};


export type MutationPlaceOrderArgs = {
  companyId: Scalars['ID']['input'];
  total: Scalars['Float']['input'];
};


export type MutationRefreshSessionArgs = {
  token: Scalars['String']['input'];
};


export type MutationRemoveOrderArgs = {
  id: Scalars['ID']['input'];
};


export type MutationSetOrderStatusArgs = {
  id: Scalars['ID']['input'];
  status: OrderStatus;
};

export type Order = {
  readonly __typename?: 'Order';
  readonly companyId: Scalars['ID']['output'];
  readonly id: Scalars['ID']['output'];
  readonly status: OrderStatus;
  readonly total: Scalars['Float']['output'];
  readonly updatedAt: Scalars['String']['output'];
  readonly version: Scalars['Int']['output'];
};

export type OrderChange = {
  readonly __typename?: 'OrderChange';
  readonly companyId: Scalars['ID']['output'];
  /** null for a resync poke: anything of this company may have changed */
  readonly orderId: Maybe<Scalars['ID']['output']>;
  readonly removed: Scalars['Boolean']['output'];
  /**
   * Send it back as the request extension pokegate.after with the refetch: a
   * replica then answers only once it shows this version (or says stale: true).
   * Opaque and signed; null on a resync poke.
   */
  readonly token: Maybe<Scalars['String']['output']>;
  readonly version: Maybe<Scalars['Int']['output']>;
};

export type OrderStatus =
  | 'CANCELLED'
  | 'PAID'
  | 'PLACED'
  | 'SHIPPED';

export type Query = {
  readonly __typename?: 'Query';
  readonly order: Maybe<Order>;
  readonly orders: ReadonlyArray<Order>;
};


export type QueryOrderArgs = {
  id: Scalars['ID']['input'];
};


export type QueryOrdersArgs = {
  companyId: Scalars['ID']['input'];
};

/** A WebSocket connection's credentials, as its latest renewal left them. */
export type Session = {
  readonly __typename?: 'Session';
  readonly admin: Scalars['Boolean']['output'];
  readonly companies: ReadonlyArray<Scalars['ID']['output']>;
  /** When the connection's token expires (ISO 8601); 9999-12-31T23:59:59.999Z for a token without exp. */
  readonly expiresAt: Scalars['String']['output'];
};

export type Subscription = {
  readonly __typename?: 'Subscription';
  /** companyId "*" needs admin */
  readonly ordersChanged: OrderChange;
};


export type SubscriptionOrdersChangedArgs = {
  companyId: Scalars['ID']['input'];
};

export type WriteReceipt = {
  readonly __typename?: 'WriteReceipt';
  readonly companyId: Scalars['ID']['output'];
  readonly eventId: Scalars['ID']['output'];
  readonly orderId: Scalars['ID']['output'];
  readonly version: Scalars['Int']['output'];
};



export type ResolverTypeWrapper<T> = Promise<T> | T;


export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;





/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = {
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Order: ResolverTypeWrapper<OrderModel>;
  OrderChange: ResolverTypeWrapper<OrderChangeModel>;
  OrderStatus: OrderStatus;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Session: ResolverTypeWrapper<Session>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Subscription: ResolverTypeWrapper<Record<PropertyKey, never>>;
  WriteReceipt: ResolverTypeWrapper<WriteReceiptModel>;
};

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = {
  Boolean: Scalars['Boolean']['output'];
  Float: Scalars['Float']['output'];
  ID: Scalars['ID']['output'];
  Int: Scalars['Int']['output'];
  Mutation: Record<PropertyKey, never>;
  Order: OrderModel;
  OrderChange: OrderChangeModel;
  Query: Record<PropertyKey, never>;
  Session: Session;
  String: Scalars['String']['output'];
  Subscription: Record<PropertyKey, never>;
  WriteReceipt: WriteReceiptModel;
};

export type MutationResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = {
  placeOrder?: Resolver<ResolversTypes['WriteReceipt'], ParentType, ContextType, RequireFields<MutationPlaceOrderArgs, 'companyId' | 'total'>>;
  refreshSession?: Resolver<ResolversTypes['Session'], ParentType, ContextType, RequireFields<MutationRefreshSessionArgs, 'token'>>;
  removeOrder?: Resolver<ResolversTypes['WriteReceipt'], ParentType, ContextType, RequireFields<MutationRemoveOrderArgs, 'id'>>;
  setOrderStatus?: Resolver<ResolversTypes['WriteReceipt'], ParentType, ContextType, RequireFields<MutationSetOrderStatusArgs, 'id' | 'status'>>;
};

export type OrderResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Order'] = ResolversParentTypes['Order']> = {
  companyId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['OrderStatus'], ParentType, ContextType>;
  total?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  updatedAt?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  version?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type OrderChangeResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['OrderChange'] = ResolversParentTypes['OrderChange']> = {
  companyId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  orderId?: Resolver<Maybe<ResolversTypes['ID']>, ParentType, ContextType>;
  removed?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  token?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  version?: Resolver<Maybe<ResolversTypes['Int']>, ParentType, ContextType>;
};

export type QueryResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = {
  order?: Resolver<Maybe<ResolversTypes['Order']>, ParentType, ContextType, RequireFields<QueryOrderArgs, 'id'>>;
  orders?: Resolver<ReadonlyArray<ResolversTypes['Order']>, ParentType, ContextType, RequireFields<QueryOrdersArgs, 'companyId'>>;
};

export type SessionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Session'] = ResolversParentTypes['Session']> = {
  admin?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  companies?: Resolver<ReadonlyArray<ResolversTypes['ID']>, ParentType, ContextType>;
  expiresAt?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
};

export type SubscriptionResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['Subscription'] = ResolversParentTypes['Subscription']> = {
  ordersChanged?: SubscriptionResolver<ResolversTypes['OrderChange'], "ordersChanged", ParentType, ContextType, RequireFields<SubscriptionOrdersChangedArgs, 'companyId'>>;
};

export type WriteReceiptResolvers<ContextType = GraphQLContext, ParentType extends ResolversParentTypes['WriteReceipt'] = ResolversParentTypes['WriteReceipt']> = {
  companyId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  eventId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  orderId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  version?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
};

export type Resolvers<ContextType = GraphQLContext> = {
  Mutation?: MutationResolvers<ContextType>;
  Order?: OrderResolvers<ContextType>;
  OrderChange?: OrderChangeResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  Session?: SessionResolvers<ContextType>;
  Subscription?: SubscriptionResolvers<ContextType>;
  WriteReceipt?: WriteReceiptResolvers<ContextType>;
};

